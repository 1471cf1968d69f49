"""Documents of a release, in Finnish, Swedish and English (reportlab PDFs and plain text).

- `content`: the values a document is made from (Sender, Recipient, StudyLine, Disclosure, MediumInfo,
  the INDEX.HTM tree) and `person_name` for DICOM PN.
- `texts`: every user-facing string per language and the date/number formats.
- `letter.write_cover_letter`: A4 cover letter for a C5 window envelope; also LETTER.PDF on the medium.
- `label.write_disc_label`: 120 mm disc label PDF.
- `readme.readme_text` / `encode_readme` / `index_page_html`: README.TXT and the plain INDEX.HTM.
"""
