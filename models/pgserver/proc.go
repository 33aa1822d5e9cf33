package pgserver

import (
	"os/exec"
	"runtime"
)

// startLocked starts cmd from a goroutine pinned to its own OS thread and
// waits for it there; the returned channel gets cmd.Wait's result.
//
// Why: on Linux, SysProcAttr.Pdeathsig fires when the *thread* that forked the
// child exits, not when our process does. An ordinary goroutine may fork from
// a thread that the runtime later retires, which would kill postgres at a
// random moment. This goroutine calls runtime.LockOSThread and never unlocks:
// it blocks in Wait until the child has exited, and only then returns, which
// (still locked) makes the runtime end the thread. So the signal fires exactly
// when the child is already gone, or when our whole process dies, even by
// SIGKILL.
func startLocked(cmd *exec.Cmd) (<-chan error, error) {
	started := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		done <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return done, nil
}
