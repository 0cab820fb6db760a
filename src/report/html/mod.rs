//! The HTML report of one run (`detsim run ... --report FILE.html`): one self-contained
//! file with the run's header, a space-time diagram of a time window, and plots with the
//! fault windows shaded.
//!
//! Data flows: a trace sink, [`collect::TraceCollector`], keeps what it draws (bounded memory);
//! after the run each protocol's [`crate::plugin::Series`] reads the history into plots
//! ([`series::RunSeries`]); the faults are paired
//! into [`faults::Span`]s; then [`page::page`] renders [`diagram`] and [`plots`]. Without
//! a report no collector exists. The library returns the
//! page as a string; the CLI writes the file.

pub(crate) mod collect;
pub(crate) mod diagram;
pub(crate) mod evidence;
pub(crate) mod faults;
pub(crate) mod label;
pub(crate) mod linearizability;
pub(crate) mod page;
pub(crate) mod plots;
pub(crate) mod run;
pub(crate) mod series;
pub(crate) mod svg;
pub(crate) mod window;

pub use linearizability::{counterexample_section, linearizability_page};
pub use run::{HtmlReport, run_with_report};
pub use window::{Window, WindowError};
