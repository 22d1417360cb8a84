//! Closed-loop load: `n` workers, each issuing one call after the other; a
//! warm-up, then a fixed window in which latencies are recorded.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// When to start and stop recording.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub record_from: Instant,
    pub record_until: Instant,
}

impl Window {
    pub fn after(warmup: Duration, length: Duration) -> Window {
        let record_from = Instant::now() + warmup;
        Window {
            record_from,
            record_until: record_from + length,
        }
    }
}

/// What a call reports beyond its latency: for a stream, when its first event
/// arrived and how many events it carried.
#[derive(Debug, Default, Clone, Copy)]
pub struct Extra {
    pub first_event: Option<Duration>,
    pub events: u64,
}

/// Latencies (µs) of calls that started and ended inside the window.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub latencies_us: Vec<u32>,
    /// Time to the first event (µs) of the streams among those calls.
    pub first_event_us: Vec<u32>,
    pub events: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub window: Duration,
}

impl Stats {
    pub fn merge(parts: Vec<Stats>, window: Duration) -> Stats {
        let mut all = Stats {
            window,
            ..Stats::default()
        };
        for p in parts {
            all.latencies_us.extend(p.latencies_us);
            all.first_event_us.extend(p.first_event_us);
            all.events += p.events;
            all.errors += p.errors;
            if all.first_error.is_none() {
                all.first_error = p.first_error;
            }
        }
        all.latencies_us.sort_unstable();
        all.first_event_us.sort_unstable();
        all
    }

    pub fn count(&self) -> usize {
        self.latencies_us.len()
    }

    pub fn per_sec(&self) -> f64 {
        self.count() as f64 / self.window.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile (0..1) of the latencies, in µs.
    pub fn quantile_us(&self, q: f64) -> f64 {
        quantile(&self.latencies_us, q)
    }

    /// The `q` quantile (0..1) of the streams' times to first event, in µs.
    pub fn first_event_quantile_us(&self, q: f64) -> f64 {
        quantile(&self.first_event_us, q)
    }

    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.window.as_secs_f64().max(1e-9)
    }
}

fn quantile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    f64::from(sorted[i])
}

/// One call of a worker, on its own state.
pub type Call<S> =
    for<'a> fn(&'a mut S) -> Pin<Box<dyn Future<Output = Result<Extra, String>> + Send + 'a>>;

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u128::from(u32::MAX)) as u32
}

/// Runs `call` on `state` until the window closes; records what falls inside.
pub async fn worker<S: Send>(mut state: S, call: Call<S>, window: Window) -> Stats {
    let mut stats = Stats::default();
    loop {
        let start = Instant::now();
        if start >= window.record_until {
            break;
        }
        let result = call(&mut state).await;
        let end = Instant::now();
        match result {
            Ok(extra) => {
                if start >= window.record_from && end <= window.record_until {
                    stats.latencies_us.push(micros(end.duration_since(start)));
                    stats.first_event_us.extend(extra.first_event.map(micros));
                    stats.events += extra.events;
                }
            }
            Err(e) => {
                stats.errors += 1;
                if stats.first_error.is_none() {
                    stats.first_error = Some(e);
                }
                // Do not spin on a broken target.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    stats
}

/// Runs `n` workers built by `make` and merges their stats; `probe` measures
/// the CPU the processes spend inside the window.
pub async fn run<S, M, MF>(
    n: usize,
    warmup: Duration,
    length: Duration,
    probe: crate::procs::CpuProbe,
    make: M,
    call: Call<S>,
) -> Result<(Stats, crate::procs::CpuUse), String>
where
    S: Send + 'static,
    M: Fn(usize) -> MF,
    MF: Future<Output = Result<S, String>>,
{
    let mut states = Vec::with_capacity(n);
    for i in 0..n {
        states.push(make(i).await?);
    }
    let window = Window::after(warmup, length);
    let cpu = tokio::spawn(probe.measure(window.record_from, window.record_until));
    let handles: Vec<_> = states
        .into_iter()
        .map(|s| tokio::spawn(worker(s, call, window)))
        .collect();
    let mut parts = Vec::with_capacity(n);
    for h in handles {
        parts.push(h.await.map_err(|e| format!("worker failed: {e}"))?);
    }
    let cpu = cpu.await.map_err(|e| format!("CPU probe failed: {e}"))?;
    Ok((Stats::merge(parts, length), cpu))
}
