"""The served engine: OpenAI-compatible servers (configuration, client,
dispatch, runner)."""
