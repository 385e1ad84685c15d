"""Repair issues of backup sites: what a person has to fix for the site to protect anything."""

from __future__ import annotations

from collections.abc import Sequence
import time
from typing import Final, Protocol

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir

from .backup.machine import BackupState, Observation
from .backup.status import SiteStatus
from .const import DOMAIN
from .site_model import ConfiguredSite

NOT_READY_REPAIR_S: Final = 600.0
"""A site not ready for an outage this long (grid present) gets a repair issue."""


class BackupSite(ConfiguredSite, Protocol):
    """What the repairs read of a backup site (site.BackupSite has it)."""

    @property
    def sheddable(self) -> Sequence[str]:
        """Loads switched off on vehicle power."""

    @property
    def critical(self) -> Sequence[str]:
        """Loads kept on vehicle power."""

    not_ready_since: float | None

    @property
    def data(self) -> SiteStatus | None:
        """The site's last status."""

    def observe(self) -> Observation:
        """What the site sees now."""


def _issue_id(site: BackupSite, kind: str, subject: str = "") -> str:
    return f"{kind}_{site.entry.entry_id}{'_' + subject if subject else ''}"


@callback
def async_check_site(hass: HomeAssistant, site: BackupSite) -> None:
    """Raise or clear the site's configuration issues."""
    title = site.entry.title
    registry = er.async_get(hass)
    entities = [
        site.transfer_switch,
        *filter(None, (site.switch_confirm, site.grid_entity, site.load_sensor)),
        *site.sheddable,
        *site.critical,
    ]
    for entity_id in entities:
        missing = hass.states.get(entity_id) is None and registry.async_get(entity_id) is None
        _toggle(
            hass,
            _issue_id(site, "missing_entity", entity_id),
            missing,
            "missing_entity",
            {"site": title, "entity": entity_id},
        )
    for source in site.sources:
        entry = hass.config_entries.async_get_entry(source)
        _toggle(
            hass,
            _issue_id(site, "missing_source", source),
            entry is None,
            "missing_source",
            {"site": title, "source": source},
        )
    seen = list(site.observe().sources.values())
    # Nothing could supply the site, and at least one source is held back by the reserve.
    cannot_protect = not any(s.usable for s in seen) and any(s.at_floor for s in seen)
    _toggle(
        hass,
        _issue_id(site, "cannot_protect"),
        cannot_protect,
        "cannot_protect",
        {"site": title, "reserve": f"{site.reserve_soc_pct:g}"},
    )
    _check_ready(hass, site)


def _check_ready(hass: HomeAssistant, site: BackupSite) -> None:
    """A repair issue once the site has not been ready for an outage for a while.

    Only while the grid is there: during an outage the site is doing what it is for.
    """
    status = site.data
    ready = status.readiness if status is not None else None
    now = time.monotonic()
    if ready is None or ready.ready or status is None or status.state is not BackupState.GRID:
        site.not_ready_since = None
    elif site.not_ready_since is None:
        site.not_ready_since = now
    lasting = site.not_ready_since is not None and now - site.not_ready_since >= NOT_READY_REPAIR_S
    problems = ", ".join(problem.value for problem in ready.problems) if ready else ""
    _toggle(
        hass,
        _issue_id(site, "not_ready"),
        lasting,
        "not_ready",
        {"site": site.entry.title, "problems": problems},
    )


def async_delete_site_issues(hass: HomeAssistant, site: BackupSite) -> None:
    """Remove every issue of a site (it is unloaded or removed)."""
    registry = ir.async_get(hass)
    for domain, issue_id in list(registry.issues):
        if domain == DOMAIN and site.entry.entry_id in issue_id:
            ir.async_delete_issue(hass, DOMAIN, issue_id)


def _toggle(
    hass: HomeAssistant, issue_id: str, active: bool, key: str, placeholders: dict[str, str]
) -> None:
    if active:
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=key,
            translation_placeholders=placeholders,
        )
    else:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
