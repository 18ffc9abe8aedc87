"""collector: watch organisations' feeds and websites for new statements as clean text."""

__version__ = "0.1.0"
