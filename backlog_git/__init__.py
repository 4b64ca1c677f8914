"""backlog-git: a git-native, persistent task store for AI coding agents and humans."""

__version__ = "0.1.0"
