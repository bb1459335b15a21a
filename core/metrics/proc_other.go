//go:build !linux

package metrics

func newReader() procReader { return newPSReader() }
