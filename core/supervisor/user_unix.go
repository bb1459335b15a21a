//go:build unix

package supervisor

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// identity is who a child runs as when that is not the daemon's user.
type identity struct {
	cred *syscall.Credential
	env  map[string]string // HOME, USER, LOGNAME of that user
}

// identityFor resolves spec's user and group: the user's uid, its primary
// group (or the group asked for) and its other groups, with the HOME, USER
// and LOGNAME of that user unless the spec sets them (as systemd's User=
// does). It is nil when the child runs as the daemon's own user. Another
// user needs a daemon running as root.
func identityFor(spec Spec) (*identity, error) {
	if spec.User == "" && spec.Group == "" {
		return nil, nil
	}
	uid, gid := os.Getuid(), os.Getgid()
	var groups []uint32
	env := map[string]string{}
	if spec.User != "" {
		u, err := lookupUser(spec.User)
		if err != nil {
			return nil, fmt.Errorf("user %q: %w", spec.User, err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		ids, _ := u.GroupIds()
		for _, g := range ids {
			if n, err := strconv.Atoi(g); err == nil {
				groups = append(groups, uint32(n))
			}
		}
		for k, v := range map[string]string{"HOME": u.HomeDir, "USER": u.Username, "LOGNAME": u.Username} {
			if _, set := spec.Env[k]; !set && v != "" {
				env[k] = v
			}
		}
	}
	if spec.Group != "" {
		g, err := lookupGroup(spec.Group)
		if err != nil {
			return nil, fmt.Errorf("group %q: %w", spec.Group, err)
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	if uid == os.Getuid() && gid == os.Getgid() {
		return nil, nil // the daemon's own: nothing to change
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("running as user %q / group %q needs a daemon running as root (it runs as uid %d)", spec.User, spec.Group, os.Geteuid())
	}
	return &identity{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}, env: env}, nil
}

// apply makes cmd run as id. The caller set cmd.SysProcAttr.
func (id *identity) apply(cmd *exec.Cmd) {
	if id == nil {
		return
	}
	cmd.SysProcAttr.Credential = id.cred
	for k, v := range id.env {
		cmd.Env = setEnv(cmd.Env, k, v)
	}
}

// lookupUser finds a user by name or numeric id.
func lookupUser(s string) (*user.User, error) {
	if _, err := strconv.Atoi(s); err == nil {
		return user.LookupId(s)
	}
	return user.Lookup(s)
}

// lookupGroup finds a group by name or numeric id.
func lookupGroup(s string) (*user.Group, error) {
	if _, err := strconv.Atoi(s); err == nil {
		return user.LookupGroupId(s)
	}
	return user.LookupGroup(s)
}

// uid is the user the child runs as.
func (id *identity) uid() uint32 {
	if id == nil {
		return uint32(os.Getuid())
	}
	return id.cred.Uid
}
