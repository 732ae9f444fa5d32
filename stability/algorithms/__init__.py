"""Pure core of the stability app (DESIGN §9): numpy / OR-Tools on arrays, never Django.

types        SwapProblem and the frozen result forms
swaps        blocking swaps, beneficial deviations, nash_distance, swap suggestions
welfare      exact optimal welfare, random feasible schedules, blocking-swap dynamics, price of anarchy
report       the stability report: level, prediction, forecast, recommended swaps, advice
ttc          Top Trading Cycles for multi-way swaps among open requests
replicator   replicator dynamics of swap-request strategies
calibration  fit of the swap-request prediction to recorded history
"""
