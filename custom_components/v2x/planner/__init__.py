"""Vehicle-to-building planning: pure functions, no Home Assistant imports, no I/O.

:mod:`.model` holds the inputs and the plan, :mod:`.lp` the exact linear program
(HiGHS through ``highspy``), :mod:`.baseline` what happens without planning
(every car charges as soon as it is plugged in), :mod:`.series` the time series
the Home Assistant layer feeds in (tariffs, learned load profiles, forecasts).
"""
