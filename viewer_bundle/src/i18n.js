// User-interface texts in Finnish, Swedish and English. The medium's language is the default;
// the user can switch. Only text goes through here: every value is put into the page with
// textContent, never as HTML.

export const LANGUAGES = ["fi", "sv", "en"];

const TEXTS = {
  fi: {
    language: "Suomi",
    title: "Kuvat",
    notice: "Vain tiedoksi – ei diagnostiseen käyttöön. Alkuperäiset DICOM-kuvat ovat levyn DICOM-kansiossa.",
    born: "synt.",
    images: "kuvaa",
    image: "Kuva",
    series: "Sarja",
    window: "Ikkunointi",
    pan: "Siirto",
    zoom: "Zoomaus",
    reset: "Palauta",
    preset: "Ikkuna",
    presetDefault: "Kuvan oma",
    presetSoft: "Pehmytkudos",
    presetLung: "Keuhko",
    presetBone: "Luu",
    presetBrain: "Aivot",
    loading: "Ladataan…",
    pickPrompt: "Tämän sarjan kuvadata ei mahtunut katseluohjelman kopioon. Valitse levyn DICOM-kansio tai vedä kuvatiedostot tähän.",
    pickButton: "Valitse DICOM-kansio",
    dropHere: "Pudota DICOM-tiedostot tähän",
    needsFolder: "vaatii DICOM-kansion",
    notFound: "Kuvaa ei löytynyt valituista tiedostoista.",
    decodeError: "Kuvaa ei voitu näyttää.",
    noImages: "Levyllä ei ole katseltavia kuvia.",
    failed: "Katseluohjelman tietoja ei voitu lukea levyltä.",
    help: "Rulla tai nuolinäppäimet: kuvasta toiseen · Veto: valittu työkalu · Keskinäppäin: siirto · Ctrl+rulla: zoomaus",
    plainList: "Kuvaluettelo ilman JavaScriptiä",
    previewOnly: "Esikatselukuva",
    report: "Lausunto",
    play: "Toista",
    pause: "Tauko",
    fps: "kuvaa/s",
    helpCine: "Välilyönti: toista / tauko",
  },
  sv: {
    language: "Svenska",
    title: "Bilder",
    notice: "Endast för information – inte för diagnostik. Original-DICOM-bilderna finns i skivans DICOM-mapp.",
    born: "född",
    images: "bilder",
    image: "Bild",
    series: "Serie",
    window: "Fönstring",
    pan: "Panorering",
    zoom: "Zoom",
    reset: "Återställ",
    preset: "Fönster",
    presetDefault: "Bildens eget",
    presetSoft: "Mjukdelar",
    presetLung: "Lunga",
    presetBone: "Skelett",
    presetBrain: "Hjärna",
    loading: "Laddar…",
    pickPrompt: "Bilddata för den här serien fick inte plats i visarens kopia. Välj skivans DICOM-mapp eller dra bildfilerna hit.",
    pickButton: "Välj DICOM-mappen",
    dropHere: "Släpp DICOM-filerna här",
    needsFolder: "kräver DICOM-mappen",
    notFound: "Bilden hittades inte bland de valda filerna.",
    decodeError: "Bilden kunde inte visas.",
    noImages: "Skivan innehåller inga bilder att visa.",
    failed: "Visarens uppgifter kunde inte läsas från skivan.",
    help: "Hjul eller piltangenter: bläddra · Dra: valt verktyg · Mittknapp: panorering · Ctrl+hjul: zoom",
    plainList: "Bildlista utan JavaScript",
    previewOnly: "Förhandsbild",
    report: "Utlåtande",
    play: "Spela",
    pause: "Paus",
    fps: "bilder/s",
    helpCine: "Mellanslag: spela / paus",
  },
  en: {
    language: "English",
    title: "Images",
    notice: "For information only – not for diagnosis. The original DICOM images are in the disc's DICOM folder.",
    born: "born",
    images: "images",
    image: "Image",
    series: "Series",
    window: "Window",
    pan: "Pan",
    zoom: "Zoom",
    reset: "Reset",
    preset: "Window",
    presetDefault: "Image default",
    presetSoft: "Soft tissue",
    presetLung: "Lung",
    presetBone: "Bone",
    presetBrain: "Brain",
    loading: "Loading…",
    pickPrompt: "The image data of this series did not fit in the viewer's copy. Choose the disc's DICOM folder or drag the image files here.",
    pickButton: "Choose the DICOM folder",
    dropHere: "Drop DICOM files here",
    needsFolder: "needs the DICOM folder",
    notFound: "The image was not found in the chosen files.",
    decodeError: "The image could not be shown.",
    noImages: "There are no images to show on this disc.",
    failed: "The viewer could not read its data from the disc.",
    help: "Wheel or arrow keys: scroll images · Drag: chosen tool · Middle button: pan · Ctrl+wheel: zoom",
    plainList: "Image list without JavaScript",
    previewOnly: "Preview",
    report: "Report",
    play: "Play",
    pause: "Pause",
    fps: "frames/s",
    helpCine: "Space: play / pause",
  },
};

/** Window presets (centre, width) in Hounsfield units. */
export const PRESETS = [
  { id: "soft", text: "presetSoft", center: 40, width: 400 },
  { id: "lung", text: "presetLung", center: -600, width: 1500 },
  { id: "bone", text: "presetBone", center: 300, width: 1500 },
  { id: "brain", text: "presetBrain", center: 40, width: 80 },
];

export function pickLanguage(wanted) {
  return LANGUAGES.indexOf(wanted) >= 0 ? wanted : "en";
}

export function text(lang, key) {
  const table = TEXTS[pickLanguage(lang)];
  return key in table ? table[key] : TEXTS.en[key] || key;
}

/** "Family^Given^Middle" -> "Family, Given Middle". */
export function personName(value) {
  const parts = String(value || "").split("=")[0].split("^");
  const family = parts[0] || "";
  const rest = parts.slice(1, 3).filter(Boolean).join(" ");
  return rest ? family + ", " + rest : family;
}

/** DICOM DA (YYYYMMDD) in the usual form of the language. */
export function date(lang, value) {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(String(value || ""));
  if (!m) return String(value || "");
  if (lang === "fi") return Number(m[3]) + "." + Number(m[2]) + "." + m[1];
  return m[1] + "-" + m[2] + "-" + m[3];
}
