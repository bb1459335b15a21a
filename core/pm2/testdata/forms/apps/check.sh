#!/bin/sh
echo "check $NODE_ENV"
exec sleep 300
