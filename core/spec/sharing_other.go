//go:build !unix

package spec

// socketSharing: only unix passes a listening socket to children.
const socketSharing = false
