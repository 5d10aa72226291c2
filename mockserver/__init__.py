"""mockserver: a faithful local mock of the Azure OpenAI API serving o3-mini."""

__version__ = "0.1.0"
