"""Secrets Manager rotation of the ai-api's generated API keys (`rotation.handler`)."""
