import unhomoglyph from 'unhomoglyph'

/**
 * The key that makes user names unique within an organization: the Unicode TR39 skeleton of
 * the NFKC-case-folded name, so that `Admin`, a full-width `ａｄｍｉｎ`, `аdmin` (Cyrillic а) and
 * `admın` (dotless ı) are all the same name. The skeleton is a key, not for display: it maps
 * `m` to `rn`, for instance, so `adrnin` and `admin` conflict too, as they look alike.
 * TR39: skeleton(X) = NFD(each character of NFD(X) replaced by its prototype in confusables.txt);
 * the mapping comes from `unhomoglyph` (Unicode's confusables.txt).
 */
export function nameKey (name: string): string {
  return unhomoglyph(foldedNameKey(name).normalize('NFD')).normalize('NFD')
}

/** NFKC + case folding: the key before skeletons (kept for migrating down). */
export function foldedNameKey (name: string): string {
  return name.normalize('NFKC').toLowerCase().normalize('NFKC')
}
