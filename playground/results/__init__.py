"""What came of runs: what one would ship, Pareto fronts, differences, narratives, charts and
exports.
"""
