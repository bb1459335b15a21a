# Stand-in for the exported app: export only needs the file to exist.
