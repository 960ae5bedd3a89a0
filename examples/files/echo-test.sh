#!/bin/sh
# Writes a line into the pod's volume (mounted at /data) for the user to downlink.
echo "echo-test ran at $(date -u +%Y-%m-%dT%H:%M:%SZ)" > /data/echo-test.txt
