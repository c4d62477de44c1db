//! The AWS figures beside the offer files: which files to read, what
//! changed, and the override file that holds the new prices.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::NaiveDate;

use super::{OfferSource, RefreshError, write_checked};
use crate::PriceBook;
use crate::aws_offer::{self, OfferFile, PriceChange};

/// The region of a figure that names none.
const DEFAULT_REGION: &str = "us-east-1";

/// The offer file (service) of a book entry, by its name's first word.
fn offer_code(entry: &str) -> Option<&'static str> {
    match entry.split('-').next()? {
        "lambda" => Some("AWSLambda"),
        "s3" => Some("AmazonS3"),
        "dynamodb" => Some("AmazonDynamoDB"),
        _ => None,
    }
}

/// The offer files that cover the book's AWS figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferPlan {
    /// One per service and region, in order.
    pub sources: Vec<OfferSource>,
    /// Entries (`lambda-arm64`) of no known offer file: not compared.
    pub not_covered: Vec<String>,
}

/// What [`AwsRefresh::write_override`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Prices written (nothing is written when this is 0).
    pub prices: usize,
    /// Changes left out because the offer's unit is not the book's.
    pub mismatched: usize,
}

/// One refresh of the AWS figures: the book as it is, and the offer files
/// read so far.
#[derive(Debug, Clone)]
pub struct AwsRefresh {
    book: PriceBook,
    today: NaiveDate,
    offers: Vec<OfferFile>,
}

impl AwsRefresh {
    /// Compares `book` (with its overrides, as in force) on `today`, which
    /// is also the day written as `checked`.
    pub fn new(book: PriceBook, today: NaiveDate) -> AwsRefresh {
        AwsRefresh {
            book,
            today,
            offers: Vec::new(),
        }
    }

    /// One offer file per service and region the book's AWS figures
    /// cover, under the bulk API's `root` ([`AWS_PRICING_URL`](super::AWS_PRICING_URL)).
    pub fn offer_plan(&self, root: &str) -> OfferPlan {
        let mut wanted = BTreeSet::new();
        let mut not_covered = Vec::new();
        for figure in self.figures() {
            match offer_code(&figure.entry) {
                Some(code) => {
                    let region = figure.region.as_deref().unwrap_or(DEFAULT_REGION);
                    wanted.insert((code, region.to_owned()));
                }
                None if !not_covered.contains(&figure.entry) => {
                    not_covered.push(figure.entry.clone());
                }
                None => {}
            }
        }
        OfferPlan {
            sources: wanted
                .into_iter()
                .map(|(code, region)| OfferSource::bulk_api(root, code, &region))
                .collect(),
            not_covered,
        }
    }

    /// Reads and keeps one offer file.
    pub async fn read(&mut self, source: &OfferSource) -> Result<&OfferFile, RefreshError> {
        let text = source.read().await?;
        let offer = OfferFile::from_json(&text).map_err(|error| RefreshError::Offer {
            source: source.to_string(),
            error,
        })?;
        self.offers.push(offer);
        Ok(self.offers.last().expect("just pushed"))
    }

    /// How many of the book's AWS figures (entry, component, region) an
    /// offer file read so far prices.
    pub fn compared(&self) -> usize {
        self.figures()
            .iter()
            .filter(|f| {
                let usagetype = f.usagetype.as_deref().unwrap_or_default();
                self.offers.iter().any(|o| {
                    o.base_rate(usagetype, f.sku.as_deref(), f.region.as_deref())
                        .is_some()
                })
            })
            .map(|f| (f.entry.clone(), f.component.clone(), f.region.clone()))
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// Every figure whose price (or unit) differs from the offer files',
    /// once each; an error when no figure could be compared at all (the
    /// files hold none of the book's usage types).
    pub fn changes(&self) -> Result<Vec<PriceChange>, RefreshError> {
        if self.compared() == 0 {
            return Err(RefreshError::NothingCompared);
        }
        let mut changes: Vec<PriceChange> = Vec::new();
        for offer in &self.offers {
            for change in aws_offer::changes(&self.book, offer, self.today) {
                let seen = changes.iter().any(|c| {
                    c.entry == change.entry
                        && c.component == change.component
                        && c.region == change.region
                });
                if !seen {
                    changes.push(change);
                }
            }
        }
        Ok(changes)
    }

    /// Writes the `changes` whose unit matches into the override file at
    /// `path` (updated in place when it exists, else a copy of the shipped
    /// AWS table), each figure's `checked` set to today. The file is
    /// written only when it reads back as a price file, and not at all
    /// when no change can be written.
    pub fn write_override(
        &self,
        path: &Path,
        changes: &[PriceChange],
    ) -> Result<Written, RefreshError> {
        let writable: Vec<PriceChange> =
            changes.iter().filter(|c| c.unit_matches).cloned().collect();
        let written = Written {
            prices: writable.len(),
            mismatched: changes.len() - writable.len(),
        };
        if writable.is_empty() {
            return Ok(written);
        }
        let base = if path.exists() {
            std::fs::read_to_string(path).map_err(|error| RefreshError::File {
                path: path.to_owned(),
                action: "read",
                error,
            })?
        } else {
            let shipped = PriceBook::shipped_toml("aws").unwrap_or_default();
            format!(
                "# AWS prices refreshed by `panoptic prices update --provider aws` on {},\n\
                 # from the AWS Price List offer files. An override file: name it in\n\
                 # PANOPTIC_PRICES; its entries replace the shipped ones.\n\
                 provider = \"aws\"\n\n{shipped}",
                self.today
            )
        };
        let text =
            aws_offer::apply_changes_checked(&base, &writable, self.today).map_err(|error| {
                RefreshError::Rewrite {
                    path: path.to_owned(),
                    error,
                }
            })?;
        write_checked(path, &text, |tmp| {
            PriceBook::from_file(tmp)
                .map(drop)
                .map_err(|e| e.to_string())
        })?;
        Ok(written)
    }

    /// The book's AWS figures that name a usage type (the only ones an
    /// offer file can price).
    fn figures(&self) -> Vec<crate::Figure> {
        self.book
            .figures()
            .into_iter()
            .filter(|f| f.provider == "aws" && f.usagetype.is_some())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_figures_map_to_offer_files_per_region() {
        let refresh = AwsRefresh::new(
            PriceBook::shipped().clone(),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        );
        let plan = refresh.offer_plan("http://prices.test");
        assert!(plan.not_covered.is_empty(), "{:?}", plan.not_covered);
        let urls: Vec<String> = plan.sources.iter().map(ToString::to_string).collect();
        assert!(
            urls.contains(
                &"http://prices.test/offers/v1.0/aws/AWSLambda/current/us-east-1/index.json"
                    .to_owned()
            ),
            "{urls:?}"
        );
        let unique: BTreeSet<&String> = urls.iter().collect();
        assert_eq!(unique.len(), urls.len(), "one file per service and region");
    }

    #[test]
    fn nothing_read_is_nothing_compared() {
        let refresh = AwsRefresh::new(
            PriceBook::shipped().clone(),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        );
        assert_eq!(refresh.compared(), 0);
        assert!(matches!(
            refresh.changes(),
            Err(RefreshError::NothingCompared)
        ));
    }
}
