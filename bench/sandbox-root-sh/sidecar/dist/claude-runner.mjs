# A runner in POSIX sh (run with runtime /bin/sh despite the file name the manager looks
# for): bench/sandbox.mjs times spawn → ready with it, so Node's own start-up (60–90 ms, and
# most of the noise) is not in the figure. Ready at once; each query ends its turn; stop exits.
echo '{"type":"ready"}'
while IFS= read -r line; do
  case $line in
    *'"type":"stop"'*) exit 0 ;;
    *'"type":"query"'*)
      sid=$(printf '%s' "$line" | sed -n 's/.*"sessionId":"\([^"]*\)".*/\1/p')
      printf '{"type":"agent_event","sessionId":"%s","event":{"type":"result","uuid":"r","total_cost_usd":0,"usage":{"input_tokens":1,"output_tokens":1}}}\n' "$sid"
      printf '{"type":"agent_stopped","sessionId":"%s"}\n' "$sid"
      ;;
  esac
done
