import '../../../sandbox-runner.mjs'
