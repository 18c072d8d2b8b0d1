"""In-process instrumentation of LLM client SDKs."""
