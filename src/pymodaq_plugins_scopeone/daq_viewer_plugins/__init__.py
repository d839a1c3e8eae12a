"""Viewer plugins of pymodaq_plugins_scopeone (2D: the ScopeOne camera)."""
