//! Turns the results of the Go side and the Rust side of the comparison into one markdown
//! table and one SVG plot (`cargo xtask bench` calls this; it can also be run by hand).
//!
//! ```text
//! cargo run -p gocsp-benches --bin report -- --rust rust.tsv [--go go.tsv]
//!     --out target/bench/report [--title TEXT]
//! ```
//!
//! Input lines: Go's `name<TAB>value`, Rust's `name<TAB>impl<TAB>value`. Writes
//! `<out>.md` (rows = workloads; columns = Go, gocsp, each peer, gocsp/Go, gocsp/best peer)
//! and `<out>.svg` (every implementation's time relative to Go's, log scale).
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::process::ExitCode;

use plotters::prelude::*;

/// The implementation every ratio is about.
const GOCSP: &str = "gocsp";

/// Results: workload -> implementation -> value, plus the order things first appeared in.
#[derive(Default)]
struct Results {
    values: BTreeMap<String, BTreeMap<String, f64>>,
    workloads: Vec<String>,
    impls: Vec<String>,
}

impl Results {
    fn insert(&mut self, name: &str, imp: &str, v: f64) {
        if !self.workloads.iter().any(|w| w == name) {
            self.workloads.push(name.to_string());
        }
        if !self.impls.iter().any(|i| i == imp) {
            self.impls.push(imp.to_string());
        }
        self.values
            .entry(name.to_string())
            .or_default()
            .insert(imp.to_string(), v);
    }
    fn get(&self, name: &str, imp: &str) -> Option<f64> {
        self.values.get(name)?.get(imp).copied()
    }
}

/// How a workload's figure reads, and the factor from the raw value to the shown one.
fn unit(name: &str) -> (&'static str, f64) {
    match name {
        "park_1m_mem" => ("B/goroutine", 1.0),
        "sieve_3000" => ("ms/run", 1e-6),
        "chan_popular" => ("µs/round of 1000 sends", 1e-3),
        "spawn_wg_100k" | "park_1m" => ("ns/goroutine", 1.0),
        "pingpong_chan0" => ("ns/round trip", 1.0),
        _ => ("ns/op", 1.0),
    }
}

fn fmt_num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn read(path: &str, go: bool, r: &mut Results) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        let (name, imp, v) = match (go, f.as_slice()) {
            (true, [name, v]) => (*name, "Go", *v),
            (false, [name, imp, v]) => (*name, *imp, *v),
            _ => return Err(format!("{path}:{}: unexpected line `{line}`", i + 1)),
        };
        let v: f64 = v
            .parse()
            .map_err(|_| format!("{path}:{}: not a number: `{v}`", i + 1))?;
        r.insert(name, imp, v);
    }
    Ok(())
}

/// The fastest implementation of `name` other than Go and gocsp's own variants.
fn best_peer(r: &Results, name: &str) -> Option<(String, f64)> {
    r.values
        .get(name)?
        .iter()
        .filter(|(imp, _)| *imp != "Go" && !imp.starts_with(GOCSP))
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, v)| (i.clone(), *v))
}

fn markdown(r: &Results, title: &str) -> String {
    let mut cols: Vec<&str> = Vec::new();
    if r.impls.iter().any(|i| i == "Go") {
        cols.push("Go");
    }
    let gocsp_first = r.impls.iter().filter(|i| i.starts_with(GOCSP));
    let others = r
        .impls
        .iter()
        .filter(|i| *i != "Go" && !i.starts_with(GOCSP));
    cols.extend(gocsp_first.chain(others).map(String::as_str));
    let mut out = format!("## {title}\n\n| workload | unit |");
    for c in &cols {
        out.push_str(&format!(" {c} |"));
    }
    out.push_str(" gocsp/Go | gocsp/best peer |\n|---|---|");
    for _ in &cols {
        out.push_str("---:|");
    }
    out.push_str("---:|---|\n");
    for name in &r.workloads {
        let (u, k) = unit(name);
        out.push_str(&format!("| {name} | {u} |"));
        for c in &cols {
            match r.get(name, c) {
                Some(v) => out.push_str(&format!(" {} |", fmt_num(v * k))),
                None => out.push_str(" – |"),
            }
        }
        let g = r.get(name, GOCSP);
        match (g, r.get(name, "Go")) {
            (Some(g), Some(go)) => out.push_str(&format!(" {:.2}× |", g / go)),
            _ => out.push_str(" – |"),
        }
        match (g, best_peer(r, name)) {
            (Some(g), Some((imp, b))) => out.push_str(&format!(" {:.2}× ({imp}) |", g / b)),
            _ => out.push_str(" – |"),
        }
        out.push('\n');
    }
    out.push_str(
        "\nLower is better everywhere (times and bytes). Ratios below 1.00× mean gocsp is \
         faster or smaller. \"–\": the implementation cannot do the workload (e.g. no \
         capacity-0 channel, or a single consumer only) or was not run.\n",
    );
    out
}

/// Every implementation's value relative to Go's, per workload, on a log scale.
fn svg(r: &Results, path: &str, title: &str) -> Result<(), Box<dyn std::error::Error>> {
    let rows: Vec<&String> = r
        .workloads
        .iter()
        .filter(|w| r.get(w, "Go").is_some())
        .collect();
    let impls: Vec<&String> = r.impls.iter().filter(|i| *i != "Go").collect();
    if rows.is_empty() || impls.is_empty() {
        return Err("nothing to plot: no workload has both a Go and a Rust figure".into());
    }
    let ratios: Vec<f64> = rows
        .iter()
        .flat_map(|w| {
            let go = r.get(w, "Go").unwrap_or(1.0);
            impls
                .iter()
                .filter_map(move |i| r.get(w, i).map(|v| v / go))
        })
        .collect();
    // Room on the left for the workload names.
    let lo = ratios.iter().copied().fold(1.0, f64::min).max(1e-3) / 4.0;
    let hi = ratios.iter().copied().fold(1.0, f64::max) * 1.5;

    let height = 140 + 22 * rows.len() as u32 * (impls.len() as u32 + 1) / 2;
    let root = SVGBackend::new(path, (1000, height.max(500))).into_drawing_area();
    root.fill(&WHITE)?;
    let n = rows.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(10)
        .build_cartesian_2d((lo..hi).log_scale(), 0f64..n as f64)?;
    chart
        .configure_mesh()
        .x_desc("time (or memory) relative to Go — lower is better; 1 = Go")
        .y_labels(0)
        .disable_y_mesh()
        .draw()?;
    // Workload names inside the plot, at the left edge of each row's band (plotters' y
    // labels cannot sit between ticks of a continuous axis).
    chart.draw_series(rows.iter().enumerate().map(|(i, w)| {
        Text::new(
            w.to_string(),
            (lo * 1.05, (n - i) as f64 - 0.02),
            ("sans-serif", 13).into_font(),
        )
    }))?;
    let band = 0.8 / impls.len() as f64;
    for (k, imp) in impls.iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
        let bars: Vec<Rectangle<(f64, f64)>> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, w)| {
                let v = r.get(w, imp)? / r.get(w, "Go")?;
                let y0 = (n - 1 - i) as f64 + 0.1 + band * k as f64;
                Some(Rectangle::new(
                    [(1.0, y0), (v, y0 + band * 0.9)],
                    color.filled(),
                ))
            })
            .collect();
        chart
            .draw_series(bars)?
            .label(imp.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(1.0, 0.0), (1.0, n as f64)],
        BLACK.stroke_width(1),
    )))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn main() -> ExitCode {
    let mut rust = None;
    let mut go = None;
    let mut out = "target/bench/report".to_string();
    let mut title = "gocsp vs Go vs Rust peers".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let Some(v) = args.next() else {
            eprintln!("report: {a} needs a value");
            return ExitCode::from(2);
        };
        match a.as_str() {
            "--rust" => rust = Some(v),
            "--go" => go = Some(v),
            "--out" => out = v,
            "--title" => title = v,
            _ => {
                eprintln!("report: unknown argument `{a}`");
                return ExitCode::from(2);
            }
        }
    }
    let mut r = Results::default();
    let mut files = Vec::new();
    if let Some(g) = &go {
        files.push((g.as_str(), true));
    }
    if let Some(x) = &rust {
        files.push((x.as_str(), false));
    }
    if files.is_empty() {
        eprintln!("report: give --rust FILE and/or --go FILE");
        return ExitCode::from(2);
    }
    for (f, is_go) in files {
        if let Err(e) = read(f, is_go, &mut r) {
            eprintln!("report: {e}");
            return ExitCode::FAILURE;
        }
    }
    let md = markdown(&r, &title);
    let md_path = format!("{out}.md");
    if let Err(e) = std::fs::write(&md_path, &md) {
        eprintln!("report: {md_path}: {e}");
        return ExitCode::FAILURE;
    }
    let svg_path = format!("{out}.svg");
    if let Err(e) = svg(&r, &svg_path, &title) {
        eprintln!("report: {svg_path}: {e}");
        return ExitCode::FAILURE;
    }
    print!("{md}");
    eprintln!("report: wrote {md_path} and {svg_path}");
    ExitCode::SUCCESS
}
