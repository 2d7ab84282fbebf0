/**
 * Small but well-formed PDFs for metering tests: `pages` pages, with the page
 * tree either in plain objects or (as PDF 1.5+ writers do) compressed into an
 * object stream. Built with the runtime's CompressionStream, so they run in
 * workerd and in Node alike.
 */

async function deflate(text: string): Promise<string> {
  const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
  const compressed = new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate"))).arrayBuffer());
  let out = "";
  for (const b of compressed) out += String.fromCharCode(b);
  return out;
}

/** A PDF of `pages` pages, base64. `objectStreams`: the page tree and pages live in a compressed object stream. */
export async function pdfBase64(pages: number, options: { objectStreams?: boolean; declaredCount?: number } = {}): Promise<string> {
  const kids = Array.from({ length: pages }, (_, i) => `${i + 3} 0 R`).join(" ");
  const tree = `<< /Type /Pages /Kids [${kids}] /Count ${options.declaredCount ?? pages} >>`;
  const page = (i: number): string => `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${i + 3 + pages} 0 R >>`;
  const content = (i: number): string => {
    const text = `BT /F1 12 Tf 72 720 Td (Page ${i + 1}) Tj ET`;
    return `<< /Length ${text.length} >>\nstream\n${text}\nendstream`;
  };
  let body = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n";
  if (options.objectStreams === true) {
    const objects = [tree, ...Array.from({ length: pages }, (_, i) => page(i))];
    let offsets = "";
    let data = "";
    objects.forEach((o, i) => {
      offsets += `${i + 2} ${data.length} `;
      data += `${o}\n`;
    });
    const packed = await deflate(offsets + data);
    body += `${pages * 2 + 3} 0 obj\n<< /Type /ObjStm /N ${objects.length} /First ${offsets.length} /Length ${packed.length} /Filter /FlateDecode >>\nstream\n${packed}\nendstream\nendobj\n`;
  } else {
    body += `2 0 obj\n${tree}\nendobj\n`;
    for (let i = 0; i < pages; i++) body += `${i + 3} 0 obj\n${page(i)}\nendobj\n`;
  }
  for (let i = 0; i < pages; i++) body += `${i + 3 + pages} 0 obj\n${content(i)}\nendobj\n`;
  body += "trailer\n<< /Root 1 0 R >>\n%%EOF\n";
  return btoa(body);
}
