package pgserver

import "syscall"

// sysProcAttr runs a child as cred (nil: as ourselves), in its own process
// group (so a Ctrl-C on our terminal reaches only us, and we decide how
// postgres shuts down), with deathSig delivered to it if we die.
func sysProcAttr(cred *syscall.Credential, deathSig syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: deathSig, Setpgid: true}
}
