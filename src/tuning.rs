//! Tuning that must happen before the process starts: OpenSSL's choice of
//! code for this CPU, and bounds on glibc's allocator ([`bound_allocator`]).
//!
//! OpenSSL 3.0 multiplies RSA numbers with its MULX/ADX code whenever the CPU
//! has BMI2 and ADX. On AMD processors without AVX-512 IFMA (where OpenSSL
//! uses AVX-512 code instead, not measured here) its AVX2 code is faster: RSA-2048 signatures 870 → 1,390 per second on the EPYC (Zen 3)
//! this project is measured on, ECDSA P-256 unchanged — and the RS256
//! ID-token signature is most of what a code flow costs. OpenSSL reads its
//! choice from `OPENSSL_ia32cap` when libcrypto is loaded, before `main`, so
//! `serve` sets it and executes itself again, once. An `OPENSSL_ia32cap`
//! the operator set is left alone (setting it to `:~0` keeps OpenSSL's own
//! choice).

/// OpenSSL's capability mask that hides BMI2 (bit 8) and ADX (bit 19) of
/// CPUID leaf 7 from its dispatch; the other words stay as detected.
const AVX2_RSA: &str = ":~0x80100";

/// What the CPU is, as far as the choice goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cpu {
    pub amd: bool,
    pub avx2: bool,
    pub bmi2_adx: bool,
    pub avx512ifma: bool,
}

/// The `OPENSSL_ia32cap` to run with, if any.
fn openssl_caps(cpu: Cpu, operator_set: bool) -> Option<&'static str> {
    let prefer_avx2 = cpu.amd && cpu.avx2 && cpu.bmi2_adx && !cpu.avx512ifma;
    (prefer_avx2 && !operator_set).then_some(AVX2_RSA)
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn this_cpu() -> Cpu {
    let amd = std::fs::read_to_string("/proc/cpuinfo")
        .is_ok_and(|info| info.lines().take(8).any(|l| l.contains("AuthenticAMD")));
    Cpu {
        amd,
        avx2: std::arch::is_x86_feature_detected!("avx2"),
        bmi2_adx: std::arch::is_x86_feature_detected!("bmi2")
            && std::arch::is_x86_feature_detected!("adx"),
        avx512ifma: std::arch::is_x86_feature_detected!("avx512ifma"),
    }
}

/// The `OPENSSL_ia32cap` `serve` runs with on this machine when the
/// operator set none.
pub fn openssl_caps_here() -> Option<&'static str> {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        openssl_caps(this_cpu(), false)
    }
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    {
        None
    }
}

/// Executes this program again with the better `OPENSSL_ia32cap` when there
/// is one; returns only when there is none, or when executing failed (the
/// program then goes on as it is).
pub fn reexec_with_openssl_caps() {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        use std::os::unix::process::CommandExt;
        let operator_set = std::env::var_os("OPENSSL_ia32cap").is_some();
        let Some(caps) = openssl_caps(this_cpu(), operator_set) else {
            return;
        };
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let error = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("OPENSSL_ia32cap", caps)
            .exec();
        eprintln!("sesame: could not tune OpenSSL for this CPU ({error}); going on");
    }
}

/// Largest allocation glibc serves from its heaps; bigger ones are mapped
/// on their own and unmapped when freed.
const MMAP_THRESHOLD: i32 = 1 << 20;
/// Heaps glibc may keep for its threads.
const ARENA_MAX: i32 = 2;

/// Bounds what glibc's allocator keeps after a burst of sign-ins
/// (docs/performance.md measures it). Each argon2 hash allocates its 19 MiB
/// of blocks and frees them. glibc maps a block that large on its own and
/// unmaps it when freed — but then raises its mapping threshold to that
/// size, so the next hashes are served from the heap of whichever blocking
/// thread runs them, and each such heap (up to 8 per core) keeps its 19 MiB
/// for good: the RSS grew from 22 to 190 MB after 150 sign-ins. A fixed
/// threshold keeps every large block mapped, so its memory goes back to
/// the system as soon as the hash is done; fewer heaps bound what small
/// allocations leave behind. Must run before any other thread starts. An
/// operator's own `MALLOC_*` or `GLIBC_TUNABLES` setting is left alone.
pub fn bound_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let operator_set = std::env::vars_os().any(|(name, _)| {
            name.to_str()
                .is_some_and(|n| n.starts_with("MALLOC_") || n == "GLIBC_TUNABLES")
        });
        if operator_set {
            return;
        }
        // SAFETY: `mallopt` only sets allocator parameters; it is called
        // before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZEN3: Cpu = Cpu {
        amd: true,
        avx2: true,
        bmi2_adx: true,
        avx512ifma: false,
    };

    #[test]
    fn amd_without_ifma_gets_the_avx2_rsa_code() {
        assert_eq!(openssl_caps(ZEN3, false), Some(AVX2_RSA));
    }

    #[test]
    fn everything_else_keeps_openssls_choice() {
        assert_eq!(openssl_caps(ZEN3, true), None, "the operator's own setting");
        let intel = Cpu { amd: false, ..ZEN3 };
        assert_eq!(openssl_caps(intel, false), None);
        let zen4 = Cpu {
            avx512ifma: true,
            ..ZEN3
        };
        assert_eq!(
            openssl_caps(zen4, false),
            None,
            "AVX-512 code there: not measured"
        );
        let old = Cpu {
            bmi2_adx: false,
            ..ZEN3
        };
        assert_eq!(openssl_caps(old, false), None, "AVX2 code already chosen");
    }
}
