import { TableWrap } from '../components/States';
import type { RecItem } from '../api/types';
import { diffLists, summarize } from '../lib/whatif';

export function BeforeAfter({ before, after, labels, testid }: { before: RecItem[]; after: RecItem[]; labels: [string, string]; testid: string }) {
  const rows = diffLists(before.map((i) => i.item_id), after.map((i) => i.item_id));
  const s = summarize(rows);
  const title = new Map<number, string>();
  for (const i of [...before, ...after]) title.set(i.item_id, i.title);
  return (
    <div data-testid={testid}>
      <p class="small" data-testid={`${testid}-summary`}>
        {s.new} new · {s.gone} gone · {s.up} rose · {s.down} fell · {s.same} unchanged
      </p>
      <TableWrap label={`${labels[0]} and ${labels[1]} lists`}>
        <table>
          <caption class="sr-only">
            {labels[0]} compared with {labels[1]}
          </caption>
          <thead>
            <tr>
              <th scope="col" class="num">{labels[0]}</th>
              <th scope="col" class="num">{labels[1]}</th>
              <th scope="col">Change</th>
              <th scope="col">Item</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.item_id} data-item-id={r.item_id} data-move={r.move}>
                <td class="num">{r.before ?? '–'}</td>
                <td class="num">{r.after ?? '–'}</td>
                <td>
                  {r.move === 'new' && <span class="pill new">new</span>}
                  {r.move === 'gone' && <span class="pill gone">gone</span>}
                  {r.move === 'up' && <span class="up" aria-label={`rose ${r.delta}`}>▲ {r.delta}</span>}
                  {r.move === 'down' && <span class="down" aria-label={`fell ${-r.delta}`}>▼ {-r.delta}</span>}
                  {r.move === 'same' && <span class="muted">=</span>}
                </td>
                <td>{title.get(r.item_id) ?? `item ${r.item_id}`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
    </div>
  );
}
