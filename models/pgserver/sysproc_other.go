//go:build !linux

package pgserver

import "syscall"

// sysProcAttr runs a child as cred (nil: as ourselves) in its own process
// group. Only Linux has a parent-death signal: elsewhere postgres outlives a
// killed ksherdash and must be stopped by hand (Stop still works normally).
func sysProcAttr(cred *syscall.Credential, _ syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true}
}
