// ollama runner for the examples: the shared scripted runner (see ../../../example-runner.mjs).
import '../../../example-runner.mjs'
