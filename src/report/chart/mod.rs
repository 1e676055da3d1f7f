//! The chart toolkit every picture is drawn with: the run chart (`run_chart`), the sweep
//! charts (`sweep_chart`), the compare charts (`compare_chart`) and the call graph
//! (`topology`) share its palette and text styles ([`style`]), its frame and house-style
//! axes ([`frame`]), its time axis and window shading ([`timeline`]), its fan bands
//! ([`band`]), its forest rows ([`forest`]) and its legends ([`legend`]).
//!
//! Text is drawn with the bundled DejaVu Sans (see [`ensure_font`]), so rendering needs
//! no system fonts, and the same result always renders to the same bytes. Every chart
//! is drawn into memory by [`render`]; none of them touches the file system.

pub(crate) mod band;
pub(crate) mod forest;
pub(crate) mod frame;
pub(crate) mod legend;
pub(crate) mod style;
pub(crate) mod timeline;

use std::sync::OnceLock;

use image::ImageEncoder;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::output::OutputFile;

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The bundled font did not parse; this is a build problem, not a user one.
    #[error("the bundled chart font (DejaVu Sans) could not be loaded")]
    Font,
    /// The result cannot be drawn, e.g. a bucket width that is not positive.
    #[error("cannot chart this result: {0}")]
    InvalidResult(String),
    /// The drawing backend or the PNG encoder failed.
    #[error("drawing chart {chart}: {message}")]
    Draw { chart: String, message: String },
}

/// What drawing on a backend `DB` returns.
pub(crate) type DrawResult<T, DB> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A chart with an `x` and a `y` axis on backend `DB`.
pub(crate) type Chart<'a, DB, X, Y> = ChartContext<'a, DB, Cartesian2d<X, Y>>;

/// Registers the bundled DejaVu Sans as plotters' `"sans-serif"` family, once per process.
///
/// Every chart calls this before drawing; without it plotters (built without fontconfig)
/// fails with `FontUnavailable`.
pub fn ensure_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(
            style::FONT,
            FontStyle::Normal,
            include_bytes!("../../../assets/fonts/DejaVuSans.ttf"),
        )
        .is_ok()
    });
    if ok { Ok(()) } else { Err(ChartError::Font) }
}

/// Draws one chart twice, as `STEM.png` and `STEM.svg`, into memory, and appends both
/// files to `files`.
///
/// plotters' file backends (`BitMapBackend::new(path, ..)`, `SVGBackend::new(path, ..)`)
/// open the destination themselves, following a symlink planted there, and write it in
/// place; drawing into buffers leaves every write to the binary, which writes a
/// command's files as one set (`cli::output`).
pub(crate) fn render<P, S>(
    stem: &str,
    size: (u32, u32),
    files: &mut Vec<OutputFile>,
    png: P,
    svg: S,
) -> Result<(), ChartError>
where
    P: for<'a, 'b> FnOnce(&'a DrawingArea<BitMapBackend<'b>, Shift>) -> DrawResult<(), BitMapBackend<'b>>,
    S: for<'a, 'b> FnOnce(&'a DrawingArea<SVGBackend<'b>, Shift>) -> DrawResult<(), SVGBackend<'b>>,
{
    let name = format!("{stem}.png");
    // Zeroed, as `BitMapBackend::new` starts its own buffer.
    let mut pixels = vec![0u8; 3 * size.0 as usize * size.1 as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        png(&root).and_then(|()| root.present()).map_err(|e| draw_error(&name, e))?;
    }
    let bytes =
        encode_png(&pixels, size).map_err(|e| ChartError::Draw { chart: name.clone(), message: e.to_string() })?;
    files.push(OutputFile::new(name, bytes));
    let name = format!("{stem}.svg");
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        svg(&root).and_then(|()| root.present()).map_err(|e| draw_error(&name, e))?;
    }
    files.push(OutputFile::new(name, text));
    Ok(())
}

/// Encodes 8-bit RGB pixels as PNG exactly as plotters saves a `BitMapBackend` to a
/// path (`image`'s `PngEncoder` at its defaults: default compression, adaptive
/// filtering), so the charts keep the bytes they had when plotters wrote the files.
fn encode_png(pixels: &[u8], (width, height): (u32, u32)) -> image::ImageResult<Vec<u8>> {
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes).write_image(pixels, width, height, image::ColorType::Rgb8)?;
    Ok(bytes)
}

fn draw_error<E: std::error::Error + Send + Sync>(chart: &str, e: DrawingAreaErrorKind<E>) -> ChartError {
    ChartError::Draw { chart: chart.to_string(), message: e.to_string() }
}

/// A time axis can be drawn: positive bucket width, finite durations.
pub(crate) fn check_timing(bucket_s: f64, simulated_s: f64, warmup_s: f64) -> Result<(), ChartError> {
    check_bucket(bucket_s)?;
    if !simulated_s.is_finite() || !warmup_s.is_finite() {
        return Err(ChartError::InvalidResult("simulated and warmup durations must be finite".to_string()));
    }
    Ok(())
}

/// Buckets can be laid on a time axis: their width is positive.
pub(crate) fn check_bucket(bucket_s: f64) -> Result<(), ChartError> {
    if !(bucket_s.is_finite() && bucket_s > 0.0) {
        return Err(ChartError::InvalidResult(format!("bucket width must be positive, got {bucket_s} s")));
    }
    Ok(())
}
