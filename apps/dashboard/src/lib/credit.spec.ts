import { creditColour, creditScale, groupSamples, samplesByStep, tokenTitle } from './credit';

describe('creditColour', () => {
  it('should pick the hue by sign and the opacity by |credit| over the scale', () => {
    expect(creditColour(0.5, 1)).toBe('rgba(213, 94, 0, 0.5)');
    expect(creditColour(-0.25, 0.5)).toBe('rgba(0, 114, 178, 0.5)');
    expect(creditColour(3, 1)).toBe('rgba(213, 94, 0, 1)');
    expect(creditColour(0, 0)).toBe('rgba(213, 94, 0, 0)');
  });

  it('should share one scale across panels', () => {
    expect(creditScale([[0.1, -0.4], [0.3]])).toBe(0.4);
  });
});

describe('tokenTitle', () => {
  it('should carry every logged number and the clip mark', () => {
    const detail = {
      text: ['4', '2'],
      logprob: [-0.5, -1.2],
      weight: [1.5, 0.8],
      credit: [0.75, 0.4],
      clip: [0, 1],
    };
    expect(tokenTitle(detail, 1, 0.5, 0.4)).toBe(
      '"2" · log-prob -1.2 · advantage 0.5 · trace weight 0.8 · credit 0.4 · clipped above (gradient cut)',
    );
  });
});

describe('samples', () => {
  it('should keep the first event per step, newest step first, and group completions by prompt', () => {
    const events = [
      {
        data: {
          step: 2,
          samples: [
            { group: 0, prompt: 'a', reward: 1 },
            { group: 0, reward: 0 },
            { group: 1, prompt: 'b' },
          ],
        },
      },
      { data: { step: 1, samples: [{ prompt: 'old', reward: 1 }, { prompt: 'older' }] } },
      { data: { step: 2, samples: [] } },
      { data: null },
    ];
    const steps = samplesByStep(events);
    expect(steps.map(([s, list]) => [s, list.length])).toEqual([
      [2, 3],
      [1, 2],
    ]);
    expect(groupSamples(steps[0][1]).map((g) => [g.group, g.prompt, g.samples.length])).toEqual([
      [0, 'a', 2],
      [1, 'b', 1],
    ]);
    // Logs written before groups existed: each completion is its own group.
    expect(groupSamples(steps[1][1]).map((g) => g.prompt)).toEqual(['old', 'older']);
  });
});
