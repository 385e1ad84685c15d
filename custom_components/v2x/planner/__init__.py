"""Vehicle-to-building planning: pure functions, no Home Assistant imports, no I/O.

:mod:`.model` holds the inputs and the plan, :mod:`.lp` the exact linear program
(HiGHS through ``highspy``), :mod:`.baseline` what happens without planning
(every car charges as soon as it is plugged in), :mod:`.series` the time series
the Home Assistant layer feeds in (tariffs, learned load profiles, forecasts).
The rules of the building around them: :mod:`.schedule` (steps, departures),
:mod:`.nowcast` (the load and prices a plan is made on), :mod:`.policy` (which
cars are planned, their plan input, their setpoints), :mod:`.ledger` (today's
cost and savings), :mod:`.peak` (the billed peak) and :mod:`.report` (statuses,
the service response, diagnostics).
"""
