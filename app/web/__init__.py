"""Blueprints: thin routes that parse, authorise, call one service and render."""
