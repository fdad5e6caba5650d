package version

import "runtime/debug"

// Set by -ldflags "-X …". Variables, not constants, so the linker can set them.
var (
	// Version is the release version, e.g. v0.1.0.
	Version = ""
	// Commit is the source revision the binary was built from.
	Commit = ""
)

// Info describes this build.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
}

// Get returns the build's version information; fields never empty.
func Get() Info {
	info := Info{Version: Version, Commit: Commit, GoVersion: "unknown"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		info.GoVersion = bi.GoVersion
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		if info.Commit == "" {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					info.Commit = s.Value
				}
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

// String is the version alone, as tools print it (SARIF tool.driver.version).
func String() string { return Get().Version }
