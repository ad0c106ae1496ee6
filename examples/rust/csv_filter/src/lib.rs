//! CSV to JSON with a filter: the rows of `csv` (first row: headers) whose
//! `column` equals `equals`, as objects; without a filter, every row.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Input {
    csv: String,
    #[serde(default)]
    column: Option<String>,
    #[serde(default)]
    equals: Option<String>,
}

#[derive(Serialize)]
struct Output {
    rows: Vec<BTreeMap<String, String>>,
    scanned: usize,
}

fn filter(input: Input) -> Result<Output, String> {
    let mut reader = csv::Reader::from_reader(input.csv.as_bytes());
    let headers = reader.headers().map_err(|e| e.to_string())?.clone();
    let column = match &input.column {
        Some(name) => Some(
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| format!("no column `{name}`; the columns are {headers:?}"))?,
        ),
        None => None,
    };
    let mut rows = Vec::new();
    let mut scanned = 0;
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        scanned += 1;
        let keep = match (column, &input.equals) {
            (Some(i), Some(want)) => record.get(i) == Some(want.as_str()),
            _ => true,
        };
        if keep {
            rows.push(
                headers
                    .iter()
                    .zip(record.iter())
                    .map(|(h, v)| (h.to_owned(), v.to_owned()))
                    .collect(),
            );
        }
    }
    Ok(Output { rows, scanned })
}

sandrun_guest::task!(filter);
