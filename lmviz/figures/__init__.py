"""Plotly figure builders: pure functions of plain data, one module per lesson step."""
