//go:build unix

package spec

// socketSharing: unix passes a listening socket to children as fd 3.
const socketSharing = true
