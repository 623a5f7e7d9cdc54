//! The limits a child runs under, set between fork and exec. Only async-signal-safe calls
//! here: the forked child of a multi-threaded server may not allocate or take locks.

use super::Limits;

/// The child's main-thread stack. Deep recursion hits its guard page and the child dies,
/// not the server.
const STACK_BYTES: u64 = 8 << 20;
/// stdin, stdout, stderr and a little room; the child opens nothing.
const OPEN_FILES: u64 = 16;

pub(super) fn apply(limits: &Limits) -> std::io::Result<()> {
    set(libc::RLIMIT_AS, limits.memory_bytes, limits.memory_bytes)?;
    // The soft limit sends SIGXCPU; the hard one a second later SIGKILL.
    let cpu = limits.timeout.as_secs().max(1);
    set(libc::RLIMIT_CPU, cpu, cpu + 1)?;
    set(libc::RLIMIT_STACK, STACK_BYTES, STACK_BYTES)?;
    set(libc::RLIMIT_FSIZE, 0, 0)?;
    set(libc::RLIMIT_CORE, 0, 0)?;
    set(libc::RLIMIT_NOFILE, OPEN_FILES, OPEN_FILES)?;
    // No set-uid surprises: whatever the child execs cannot gain privileges.
    // SAFETY: prctl with these arguments only sets a flag on this process.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn set(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> std::io::Result<()> {
    let limit = libc::rlimit { rlim_cur: soft as libc::rlim_t, rlim_max: hard as libc::rlim_t };
    // SAFETY: setrlimit reads the struct we pass and touches nothing else.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
