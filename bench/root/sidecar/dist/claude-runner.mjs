import '../../../flood-runner.mjs'
