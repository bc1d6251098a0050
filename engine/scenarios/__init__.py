"""The credit questions, asked of the lender's own model through a :class:`engine.session.ModelSession`.

``breakeven`` (the curve parameter value at which coverage reaches a target), ``size`` (the largest
loan the curve supports at a target DSCR) and ``grid`` (a metric over one or two varied inputs)
each open one session and evaluate it many times; nothing here prints.
"""
