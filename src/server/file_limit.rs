//! The connection cap protects the server only if it is below the number of files the
//! process may open: past that, every accept fails (EMFILE) and so does everything else
//! that opens a file or socket (the database pool, the parsing children's pipes). One
//! client with 495 idle connections under a limit of 512 locked everyone out that way.
//! So at start the soft limit is raised (as far as the hard limit allows) when the cap
//! needs it, and the cap is lowered to what the limit then permits, with a warning.

/// Descriptors kept back for all but client connections: the database pool, Redis,
/// outbound HTTP and mail, parsing children's pipes, uploads being written, logs.
const RESERVED: u64 = 128;

/// `MAX_CONNECTIONS`, or fewer when the process may not open that many files.
pub fn effective_max_connections(configured: usize) -> usize {
    let wanted = configured as u64 + RESERVED;
    let Some(open_files) = raise_soft_limit(wanted) else { return configured };
    let cap = cap_for(configured, open_files);
    if cap < configured {
        tracing::warn!(
            max_connections = configured,
            open_files,
            effective = cap,
            "the process may not open enough files for MAX_CONNECTIONS: raise its file limit (ulimit -n, LimitNOFILE=) or lower MAX_CONNECTIONS; until then at most {cap} connections are served at once"
        );
    }
    cap
}

/// The cap that leaves `RESERVED` of `open_files` for the rest (at least one connection).
fn cap_for(configured: usize, open_files: u64) -> usize {
    let room = usize::try_from(open_files.saturating_sub(RESERVED)).unwrap_or(usize::MAX);
    configured.min(room.max(1))
}

/// The soft limit on open files, raised towards `wanted` (up to the hard limit) when it
/// is lower; None when it cannot be read.
fn raise_soft_limit(wanted: u64) -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes only the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    let (soft, hard): (u64, u64) = (limit.rlim_cur, limit.rlim_max);
    if soft >= wanted || soft >= hard {
        return Some(soft);
    }
    let raised = libc::rlimit { rlim_cur: wanted.min(hard), rlim_max: limit.rlim_max };
    // SAFETY: setrlimit reads the struct we pass; a soft limit up to the hard one is allowed.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 { Some(raised.rlim_cur) } else { Some(soft) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_rest_of_the_server() {
        assert_eq!(cap_for(10_000, 1_048_576), 10_000, "a high limit keeps the configured cap");
        assert_eq!(cap_for(10_000, 512), 384, "the attack's 512-file limit");
        assert_eq!(cap_for(10_000, 100), 1);
        assert_eq!(cap_for(300, 428), 300);
        assert_eq!(cap_for(300, 427), 299);
    }

    #[test]
    fn the_limit_is_read_and_left_alone_when_it_suffices() {
        let before = raise_soft_limit(0).expect("the limit is readable");
        assert_eq!(raise_soft_limit(before), Some(before));
        assert_eq!(raise_soft_limit(0), Some(before));
    }
}
