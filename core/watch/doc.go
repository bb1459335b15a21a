// Package watch tells the daemon when the files of a watched process change,
// once per burst. One [Hub] serves every process (a key each) with a single
// fsnotify watcher; [Hub.Add] starts or replaces a key's watch,
// [Hub.Remove] ends it, and the Hub calls onChange(key, changed) with the
// changed paths when a burst of changes has settled.
//
// # What is watched
//
// Each of [Options.Paths] is an absolute file or folder that must exist.
// A folder is watched recursively: every folder below it that is not
// ignored is watched at Add, and folders that appear later are watched as
// they appear (with the folders and files already inside them, which count
// as changed). Removed folders drop out. Symbolic links below a folder are
// not followed. A single file is watched through its folder, and only its
// own name counts, so an editor that saves by writing a temporary file and
// renaming it over the original is seen as one change to that file. (A
// file given as a symbolic link is watched as the link: a change made
// through it to a target in another folder is not seen; name the target.)
//
// A change is a file or folder created, written, removed or renamed. A
// change of permissions or times alone (chmod, touch -a) is not.
//
// # Ignore rules
//
// [DefaultIgnore] always applies, followed by [Options.Ignore]. Patterns use
// '/' as the separator on every OS and path.Match globs (* ? [a-z]) within
// one path element:
//
//   - A pattern without '/' matches any single path element below the
//     watched folder: "node_modules" ignores every folder (or file) of that
//     name at any depth, "*.log" every file ending in .log.
//   - A pattern with '/' matches the path relative to the watched folder,
//     from its start: "tmp/*.txt" ignores tmp/a.txt but not src/tmp/a.txt.
//     "**" stands for any number of elements, none included: "build/**"
//     ignores build and all below it, "**/gen/*.go" any gen folder's Go
//     files. A trailing '/' is dropped ("logs/" is "logs").
//   - An absolute path (a glob is allowed) excludes that file or folder and
//     everything below it, wherever it sits; the daemon passes its own log
//     folder this way. A watched path inside an excluded one is an error.
//
// A path is ignored when it, or any folder above it up to the watched
// folder, matches. Ignored folders are neither walked nor watched, so a huge
// node_modules costs nothing. The elements of the watched folder's own path
// do not count: watching /srv/build/app with the pattern "build" works.
// A single file named in Paths is never ignored by name patterns.
//
// To keep a program that writes into its own watched folder from restarting
// itself, ignore what it writes: its log files are already ignored by
// "*.log"; add its data or upload folder ("data", "uploads/**"), its pid or
// database file ("*.pid", "*.sqlite"), or its output folder by absolute
// path.
//
// # Debounce
//
// Changes for a key are collected until none has come for
// [Options.Debounce] (300 ms by default); then one onChange call gets the
// distinct changed paths, sorted, at most [MaxChanged]. A burst that never
// goes quiet is reported after ten debounce periods, so a file rewritten
// without pause cannot hold a real change back forever. Calls for one key
// never overlap, even across [Hub.Remove] and a new [Hub.Add]: changes that
// settle while onChange runs make the next call, merged into one.
//
// # Errors
//
// Add fails, naming the path, when a path does not exist, is not absolute,
// is excluded by an absolute ignore pattern, or cannot be watched; hitting
// the inotify watch limit (ENOSPC) names fs.inotify.max_user_watches. A
// failed Add changes nothing. At run time, a new folder that cannot be
// watched, a watched folder that was removed, and events lost to a queue
// overflow (after which the folders are rescanned) go to onError, once per
// cause and key.
//
// # Platforms
//
// fsnotify uses inotify on Linux, kqueue on macOS and the BSDs (one open
// file per watched file and folder: the limit is ulimit -n) and
// ReadDirectoryChangesW on Windows. Paths are compared as cleaned text,
// case-sensitively.
package watch
