"""Face geometry: landmarks, alignment to a recognizer's template, the face region that ROI codecs protect."""
