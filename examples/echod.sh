#!/bin/sh
# An echo daemon that takes its listening socket by socket activation
# (LISTEN_FDS, fd 3) and serves each connection with cat.
exec systemd-socket-activate --accept --inetd cat
