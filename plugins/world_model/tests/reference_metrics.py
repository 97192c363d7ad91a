"""Independent reference values for the SSIM and PSNR test in src/metrics.rs.

Run: pip install numpy scikit-image && python3 reference_metrics.py
It rebuilds the test images of `metrics::tests::pattern` and scores them with scikit-image.
"""
import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def pattern(w, h, shift):
    img = np.zeros((h, w, 3), dtype=np.uint8)
    for y in range(h):
        for x in range(w):
            xs = x + shift
            img[y, x] = ((xs * 7 + y * 3) % 256, (xs * y) % 251, ((xs // 4 + y // 4) % 2) * 200 + 20)
    return img


def luma(img):
    f = img.astype(np.float64)
    return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]


for shift in (1, 3):
    a, b = pattern(48, 40, 0), pattern(48, 40, shift)
    ssim = structural_similarity(luma(a), luma(b), gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=255)
    psnr = peak_signal_noise_ratio(a, b, data_range=255)
    print(f"shift={shift}: ssim={ssim!r} psnr={psnr!r}")
