/**
 * `cryptonets`: pure HE, non-interactive (Gilad-Bachrach et al., 2016) — the whole merged,
 * square-activated network evaluated on Enc(x), images batched across the slots. It has no
 * protocol to serve, so it runs locally in one worker (core/baselines/cryptonets*.ts).
 */
import { runCryptoNetsReport } from '../baselines/cryptonets-report.ts';
import { floatUnsupported } from './float.ts';
import type { LocalScheme } from './types.ts';

export const cryptonets: LocalScheme = {
  kind: 'local',
  id: 'cryptonets',
  label: 'CryptoNets (pure HE)',
  family: 'he',
  summary: 'the whole network under CKKS on Enc(x), images across slots; non-interactive, deep parameters',
  remote: false,
  unsupported: (arch) => floatUnsupported(arch, 'cryptonets'),
  runLocal: (req, h) => runCryptoNetsReport(req, h),
};
