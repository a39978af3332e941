//! JPEG through libjpeg-turbo (the `turbojpeg` crate linking the system library) and PNG
//! through `image`, for writing frames and, later, dataset fields.

use crate::error_parts::ParamError;

/// Why an image could not be encoded or decoded: libjpeg-turbo's or the PNG encoder's own
/// error kept as the source.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// libjpeg-turbo refused to encode or decode (a corrupt JPEG, a size it refuses).
    #[error("libjpeg-turbo: could not {what}: {source}")]
    Jpeg {
        what: &'static str,
        #[source]
        source: turbojpeg::Error,
    },
    /// The PNG encoder failed.
    #[error("PNG: could not encode: {source}")]
    Png {
        #[source]
        source: image::ImageError,
    },
    /// A parameter out of range (the JPEG quality).
    #[error(transparent)]
    Param(#[from] ParamError),
}

type Result<T> = std::result::Result<T, ImageError>;

impl ImageError {
    /// What sort of failure this is: a refused parameter, else damaged or unusable image
    /// data.
    pub fn kind(&self) -> crate::error_parts::ErrorKind {
        use crate::error_parts::ErrorKind;
        match self {
            ImageError::Param(_) => ErrorKind::InvalidParameter,
            _ => ErrorKind::Data,
        }
    }
}

/// Encode packed RGB24 as a baseline JPEG with 4:2:0 chroma at `quality` (1-100).
pub fn encode_rgb(data: &[u8], width: u32, height: u32, quality: i32) -> Result<Vec<u8>> {
    if !(1..=100).contains(&quality) {
        return Err(ParamError::new("quality", "must be between 1 and 100").into());
    }
    let img = turbojpeg::Image {
        pixels: data,
        width: width as usize,
        pitch: width as usize * 3,
        height: height as usize,
        format: turbojpeg::PixelFormat::RGB,
    };
    turbojpeg::compress(img, quality, turbojpeg::Subsamp::Sub2x2)
        .map(|b| b.to_vec())
        .map_err(|source| ImageError::Jpeg {
            what: "encode",
            source,
        })
}

/// Decode a JPEG to packed RGB24: (width, height, pixels).
pub fn decode_rgb(jpeg: &[u8]) -> Result<(u32, u32, Vec<u8>)> {
    let img = turbojpeg::decompress(jpeg, turbojpeg::PixelFormat::RGB).map_err(|source| {
        ImageError::Jpeg {
            what: "decode",
            source,
        }
    })?;
    let (w, h) = (img.width, img.height);
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        out.extend_from_slice(&img.pixels[y * img.pitch..y * img.pitch + w * 3]);
    }
    Ok((w as u32, h as u32, out))
}

/// Encode packed RGB24 as PNG.
pub fn encode_png(data: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::Adaptive,
    )
    .write_image(data, width, height, image::ExtendedColorType::Rgb8)
    .map_err(|source| ImageError::Png { source })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_round_trip_is_close() {
        let (w, h) = (64u32, 48u32);
        let data: Vec<u8> = (0..w * h * 3).map(|i| ((i / 3) % 200) as u8).collect();
        let j = encode_rgb(&data, w, h, 95).unwrap();
        let (dw, dh, back) = decode_rgb(&j).unwrap();
        assert_eq!((dw, dh), (w, h));
        let mad: f64 = data
            .iter()
            .zip(&back)
            .map(|(a, b)| (*a as f64 - *b as f64).abs())
            .sum::<f64>()
            / data.len() as f64;
        assert!(mad < 3.0, "{mad}");
        assert!(encode_rgb(&data, w, h, 0).is_err());
    }
}
