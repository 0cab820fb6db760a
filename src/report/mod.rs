//! Reports of a run for people: the HTML page (space-time diagram, plots, fault table).

pub mod html;
