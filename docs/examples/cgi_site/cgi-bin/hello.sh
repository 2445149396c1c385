#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
printf 'Hello from sh: PATH_INFO=%s QUERY_STRING=%s\n' "$PATH_INFO" "$QUERY_STRING"
