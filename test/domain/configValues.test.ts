import { describe, it, expect } from 'vitest';
import {
  checkParamValue,
  isSupportedParamType,
  isValidValue,
  normalizePossibleValues,
  stripSpaces,
  validateServiceConfigs,
  type ConfigParam,
  type ConfigParamDefinition,
} from '../../src/domain/configValues.js';
import { thrownBy } from '../helpers/errors.js';

// Asserts a class-300 (validation → 400) error with the given message.
function expectValidation(fn: () => unknown, message: string | RegExp): void {
  const err = thrownBy(fn);
  expect(err.errorClass).toBe(300);
  expect(err.status).toBe(400);
  // The original's message, then (after '; ') the valid choices we add.
  if (typeof message === 'string') expect(err.message.startsWith(`${message}; `) ? message : err.message).toBe(message);
  else expect(err.message).toMatch(message);
}

describe('isSupportedParamType', () => {
  it('accepts int and rejects wrongString', () => {
    expect(isSupportedParamType('int')).toBe(true);
    expect(isSupportedParamType('wrongString')).toBe(false);
  });
  it('knows exactly the four types', () => {
    for (const t of ['int', 'float', 'bool', 'string']) expect(isSupportedParamType(t)).toBe(true);
    for (const t of ['', 'Int', 'double', 'list']) expect(isSupportedParamType(t)).toBe(false);
  });
});

describe('isValidValue — scalars', () => {
  it('int follows ParseInt(v, 10, 32)', () => {
    for (const v of ['123456789', '0', '-0', '+5', '-17', '007', '2147483647', '-2147483648']) {
      expect(isValidValue('int', false, v), v).toBe(true);
    }
    for (const v of ['not INT', '', ' 1', '1 ', '1.0', '1e3', '0x10', '1_000', '+', '-', '2147483648', '-2147483649', '99999999999999999999']) {
      expect(isValidValue('int', false, v), v).toBe(false);
    }
  });

  it('float follows ParseFloat(v, 64)', () => {
    const ok = [
      '+Inf', 'Inf', '-Inf', 'inf', 'INF', 'Infinity', '-infinity', '+INFINITY', 'NaN', 'nan', 'NAN',
      '0', '1', '-1.5', '+2.0', '.5', '5.', '1e10', '1E-10', '1.5e+3', '144.665', '0x1p-2', '0X1.8P3', '0x.8p0',
      '-0x1p0', '1_000.5', '0x_1p0', '1.7976931348623157e308', '1e-400', '0e99999',
    ];
    for (const v of ok) expect(isValidValue('float', false, v), v).toBe(true);
    const bad = [
      'Not_FLOAT', '', ' ', ' 1', '1 ', '.', 'e5', '1e', '1e+', 'in', 'infin', 'infx', '+nan', '-NaN', 'nanx',
      '0x', '0x1', '0x1.8', '0xg', '1__0', '_1', '1_', '1_.5', '1e400', '-1e400', '0x1p1024', '1.7976931348623159e308',
      '1,5', '0b101', '1.2.3',
    ];
    for (const v of bad) expect(isValidValue('float', false, v), v).toBe(false);
  });

  it('bool accepts exactly the ParseBool words', () => {
    for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']) {
      expect(isValidValue('bool', false, v), v).toBe(true);
    }
    for (const v of ['yes', 'no', 'tRUE', 'TrUe', 'y', '', ' true', '2']) {
      expect(isValidValue('bool', false, v), v).toBe(false);
    }
  });

  it('string accepts anything', () => {
    for (const v of ['', 'any string', '[1, 2]', 'null']) expect(isValidValue('string', false, v)).toBe(true);
  });

  it('a scalar parameter given a list is rejected', () => {
    expect(isValidValue('int', false, '[1, 2, 3]')).toBe(false);
    expect(isValidValue('float', false, '[1.0]')).toBe(false);
    expect(isValidValue('bool', false, '[true]')).toBe(false);
  });

  it('unknown types accept anything', () => {
    expect(isValidValue('wrongString', false, 'whatever')).toBe(true);
    expect(isValidValue('', true, 'not json')).toBe(true);
  });
});

describe('isValidValue — lists', () => {
  it('accepts the eight valid kinds of the old suite', () => {
    expect(isValidValue('int', false, '123456789')).toBe(true);
    expect(isValidValue('float', false, '+Inf')).toBe(true);
    expect(isValidValue('bool', false, 'true')).toBe(true);
    expect(isValidValue('string', false, 'some string value')).toBe(true);
    expect(isValidValue('int', true, '[1, 2, 3, 4, 5]')).toBe(true);
    expect(isValidValue('float', true, '[0.0, null, 1.2, 144.665]')).toBe(true);
    expect(isValidValue('bool', true, '[true, true, false, true, false]')).toBe(true);
    expect(isValidValue('string', true, '["string1", "string2", "string3"]')).toBe(true);
  });

  it('a list parameter given a scalar is rejected', () => {
    expect(isValidValue('bool', true, 'true')).toBe(false);
    expect(isValidValue('int', true, '5')).toBe(false);
    expect(isValidValue('string', true, '"abc"')).toBe(false);
    expect(isValidValue('string', true, 'abc')).toBe(false);
    expect(isValidValue('float', true, '{"a": 1}')).toBe(false);
  });

  it('rejects elements of the wrong type', () => {
    expect(isValidValue('string', true, '[1, 2, 45, 0]')).toBe(false);
    expect(isValidValue('int', true, '[1, "2"]')).toBe(false);
    expect(isValidValue('int', true, '[1, true]')).toBe(false);
    expect(isValidValue('float', true, '[1.5, "x"]')).toBe(false);
    expect(isValidValue('bool', true, '[true, 1]')).toBe(false);
    expect(isValidValue('bool', true, '[true, "false"]')).toBe(false);
    expect(isValidValue('int', true, '[[1], 2]')).toBe(false);
  });

  it('int lists need integer literals that fit int64', () => {
    expect(isValidValue('int', true, '[1.5, 2]')).toBe(false);
    expect(isValidValue('int', true, '[1.0]')).toBe(false);
    expect(isValidValue('int', true, '[1e2]')).toBe(false);
    expect(isValidValue('int', true, '[-0, 0, 2147483648]')).toBe(true);
    expect(isValidValue('int', true, '[9223372036854775807, -9223372036854775808]')).toBe(true);
    expect(isValidValue('int', true, '[9223372036854775808]')).toBe(false);
    expect(isValidValue('int', true, '[-9223372036854775809]')).toBe(false);
    expect(isValidValue('int', true, '[1, null, 3]')).toBe(true);
  });

  it('float lists reject values Go reports as out of range', () => {
    expect(isValidValue('float', true, '[1e308]')).toBe(true);
    expect(isValidValue('float', true, '[1e400]')).toBe(false);
    expect(isValidValue('float', true, '[1, 2e-3, -4]')).toBe(true);
  });

  it('JSON null is a valid list of any type, and empty arrays are fine', () => {
    for (const t of ['int', 'float', 'bool', 'string']) {
      expect(isValidValue(t, true, 'null'), t).toBe(true);
      expect(isValidValue(t, true, '[]'), t).toBe(true);
      expect(isValidValue(t, true, ' [ ] '), t).toBe(true);
    }
  });

  it('null elements are accepted in every list type (Go leaves the zero value, "" for strings)', () => {
    expect(isValidValue('bool', true, '[true, null]')).toBe(true);
    expect(isValidValue('string', true, '["a", null]')).toBe(true);
  });

  it('rejects malformed JSON', () => {
    for (const v of ['', '[', '[1,]', '[1 2]', "['a']", '[NaN]', '[Infinity]', '[+1]', '[01]', '[.5]']) {
      expect(isValidValue('float', true, v), v).toBe(false);
    }
  });
});

describe('stripSpaces', () => {
  it('removes every U+0020, including inside quoted strings, and nothing else', () => {
    expect(stripSpaces('[ 11, 22  , 33, 4]')).toBe('[11,22,33,4]');
    expect(stripSpaces('[ true ,false ]')).toBe('[true,false]');
    expect(stripSpaces('[ "a b" , "c" ]')).toBe('["ab","c"]');
    expect(stripSpaces('a\tb\nc')).toBe('a\tb\nc');
  });
});

describe('normalizePossibleValues (config definition rules)', () => {
  const def = (over: Partial<ConfigParamDefinition>): ConfigParamDefinition => ({
    ParameterName: 'p',
    Type: 'int',
    IsList: false,
    PossibleValues: ['1', '2'],
    DefaultValue: '1',
    ...over,
  });

  it('returns null when there are no possible values, without requiring a default', () => {
    expect(normalizePossibleValues(def({ PossibleValues: null, DefaultValue: undefined }))).toBeNull();
    expect(normalizePossibleValues(def({ PossibleValues: undefined, DefaultValue: '' }))).toBeNull();
  });

  it('accepts valid scalars and keeps them verbatim', () => {
    expect(normalizePossibleValues(def({ Type: 'float', PossibleValues: ['+Inf', '2.0', '0.0'], DefaultValue: '2.0' }))).toEqual([
      '+Inf',
      '2.0',
      '0.0',
    ]);
    expect(normalizePossibleValues(def({ Type: 'string', PossibleValues: ['a b', 'c'], DefaultValue: 'a b' }))).toEqual([
      'a b',
      'c',
    ]);
  });

  it('accepts lists with irregular spacing and stores them stripped', () => {
    const input = ['[ 11, 22  , 33, 4]', '[1,2]', '[ 3 ]'];
    const out = normalizePossibleValues(def({ IsList: true, PossibleValues: input, DefaultValue: '[1,2]' }));
    expect(out).toEqual(['[11,22,33,4]', '[1,2]', '[3]']);
    expect(input[0]).toBe('[ 11, 22  , 33, 4]'); // the caller's array is not mutated
    expect(
      normalizePossibleValues(def({ Type: 'bool', IsList: true, PossibleValues: ['[ true, false ]', '[false]'], DefaultValue: '[false]' })),
    ).toEqual(['[true,false]', '[false]']);
    expect(
      normalizePossibleValues(
        def({ Type: 'string', IsList: true, PossibleValues: ['[ "a", "b" ]', '["c"]'], DefaultValue: '["c"]' }),
      ),
    ).toEqual(['["a","b"]', '["c"]']);
  });

  it('rejects one bad element, naming it', () => {
    expectValidation(
      () => normalizePossibleValues(def({ PossibleValues: ['1', 'wrong', '3'] })),
      'config possible value wrong set incorrectly',
    );
    expectValidation(
      () => normalizePossibleValues(def({ IsList: true, PossibleValues: ['[1,2]', '[1.5]'], DefaultValue: '[1,2]' })),
      'config possible value [1.5] set incorrectly',
    );
    expectValidation(
      () => normalizePossibleValues(def({ Type: 'bool', PossibleValues: ['true', 'yes'], DefaultValue: 'true' })),
      'config possible value yes set incorrectly',
    );
  });

  it('rejects duplicates, including list duplicates that differ only by spacing', () => {
    expectValidation(
      () => normalizePossibleValues(def({ PossibleValues: ['1', '2', '1', '3'] })),
      'config possible value 1 is not unique',
    );
    expectValidation(
      () => normalizePossibleValues(def({ IsList: true, PossibleValues: ['[1, 2]', '[3]', '[1,2]'], DefaultValue: '[3]' })),
      'config possible value [1,2] is not unique',
    );
  });

  it('rejects a duplicate of the last element (the original skipped it)', () => {
    expectValidation(
      () => normalizePossibleValues(def({ PossibleValues: ['1', '2', '2'] })),
      'config possible value 2 is not unique',
    );
  });

  it('rejects an empty list instead of crashing (the original panicked)', () => {
    expectValidation(
      () => normalizePossibleValues(def({ PossibleValues: [] })),
      "config possible value is empty: parameter 'p' has an empty PossibleValues list",
    );
  });

  it('rejects an empty value, also in the last position', () => {
    expectValidation(
      () => normalizePossibleValues(def({ Type: 'string', PossibleValues: ['a', ''], DefaultValue: 'a' })),
      /^config possible value is empty: parameter 'p'/,
    );
  });

  it('requires a default value when possible values exist', () => {
    expectValidation(
      () => normalizePossibleValues(def({ DefaultValue: undefined })),
      /^service type version config default value must be set.*'p'/,
    );
    expectValidation(
      () => normalizePossibleValues(def({ DefaultValue: '' })),
      /^service type version config default value must be set/,
    );
  });

  it('rejects a default outside the possible values, naming the value and parameter', () => {
    expectValidation(
      () => normalizePossibleValues(def({ ParameterName: 'workers', DefaultValue: '7' })),
      "service type version config default value '7' of parameter 'workers' not in possible values",
    );
    // Scalars compare exactly as strings.
    expectValidation(
      () => normalizePossibleValues(def({ Type: 'float', PossibleValues: ['1.0'], DefaultValue: '1' })),
      /default value '1' of parameter 'p' not in possible values/,
    );
  });

  it('strips spaces from a list default before comparing (the original never matched)', () => {
    expect(
      normalizePossibleValues(def({ IsList: true, PossibleValues: ['[1,2]', '[3]'], DefaultValue: '[ 1, 2 ]' })),
    ).toEqual(['[1,2]', '[3]']);
  });

  it('leaves values of an unknown type unchecked', () => {
    expect(normalizePossibleValues(def({ Type: undefined, PossibleValues: ['x', 'y'], DefaultValue: 'x' }))).toEqual([
      'x',
      'y',
    ]);
  });
});

describe('checkParamValue (cluster service config)', () => {
  const param = (over: Partial<ConfigParam>): ConfigParam => ({
    ParameterName: 'k',
    Type: 'int',
    IsList: false,
    PossibleValues: null,
    ...over,
  });

  it('rejects values of the wrong type', () => {
    const cases: Array<[Partial<ConfigParam>, string]> = [
      [{ Type: 'int' }, 'not INT'],
      [{ Type: 'float' }, 'Not_FLOAT'],
      [{ Type: 'bool' }, 'maybe'],
      [{ Type: 'bool', IsList: true }, 'true'],
      [{ Type: 'int', IsList: false }, '[1, 2]'],
      [{ Type: 'string', IsList: true }, '[1, 2, 45, 0]'],
      [{ Type: 'int', IsList: true }, '[1, 2.5]'],
      [{ Type: 'float', IsList: true }, '[1.0, "x"]'],
      [{ Type: 'bool', IsList: true }, '[true, 0]'],
    ];
    for (const [over, value] of cases) {
      expectValidation(
        () => checkParamValue('spark', param(over), value),
        "'spark' service config param 'k' has incorrect value type",
      );
    }
  });

  it('accepts valid values when there are no possible values', () => {
    expect(() => checkParamValue('spark', param({ Type: 'int' }), '123456789')).not.toThrow();
    expect(() => checkParamValue('spark', param({ Type: 'float' }), '+Inf')).not.toThrow();
    expect(() => checkParamValue('spark', param({ Type: 'string', PossibleValues: undefined }), 'x')).not.toThrow();
  });

  it('scalar possible values match exactly', () => {
    const p = param({ Type: 'float', PossibleValues: ['+Inf', '2.0', '0.0'] });
    expect(() => checkParamValue('spark', p, '2.0')).not.toThrow();
    expectValidation(() => checkParamValue('spark', p, '15.3'), "'spark' service config param 'k' value is not supported");
    expectValidation(() => checkParamValue('spark', p, '2'), "'spark' service config param 'k' value is not supported");
  });

  it('list possible values match after space removal, in order', () => {
    const p = param({ IsList: true, PossibleValues: ['[123,456]', '[15,41]'] });
    expect(() => checkParamValue('spark', p, '[123, 456]')).not.toThrow();
    expect(() => checkParamValue('spark', p, '[ 15 ,41 ]')).not.toThrow();
    expectValidation(() => checkParamValue('spark', p, '[15, 46]'), "'spark' service config param 'k' value is not supported");
    expectValidation(() => checkParamValue('spark', p, '[456, 123]'), "'spark' service config param 'k' value is not supported");
  });

  it('space removal applies to int, bool and quoted-string lists', () => {
    expect(() =>
      checkParamValue('spark', param({ IsList: true, PossibleValues: ['[11,22,33,4]'] }), '[ 11, 22  , 33, 4]'),
    ).not.toThrow();
    expect(() =>
      checkParamValue('spark', param({ Type: 'bool', IsList: true, PossibleValues: ['[true,false]'] }), '[ true , false ]'),
    ).not.toThrow();
    expect(() =>
      checkParamValue('spark', param({ Type: 'string', IsList: true, PossibleValues: ['["ab","c"]'] }), '[ "a b", "c" ]'),
    ).not.toThrow();
  });

  it('an empty possible-values list rejects everything', () => {
    expectValidation(
      () => checkParamValue('spark', param({ PossibleValues: [] }), '1'),
      "'spark' service config param 'k' value is not supported",
    );
  });
});

describe('validateServiceConfigs', () => {
  const params: ConfigParam[] = [
    { ParameterName: 'workers', Type: 'int', IsList: false, PossibleValues: null },
    { ParameterName: 'ratio', Type: 'float', IsList: false, PossibleValues: ['+Inf', '2.0', '0.0'] },
    { ParameterName: 'hosts', Type: 'string', IsList: true, PossibleValues: null },
  ];

  it('accepts known keys with valid values, and an empty config', () => {
    expect(() =>
      validateServiceConfigs('spark', params, { workers: '3', ratio: '2.0', hosts: '["a", "b"]' }),
    ).not.toThrow();
    expect(() => validateServiceConfigs('spark', params, {})).not.toThrow();
  });

  it('rejects an unknown key', () => {
    expectValidation(
      () => validateServiceConfigs('spark', params, { workers: '3', nope: 'x' }),
      "'spark' service config param name 'nope' is not supported",
    );
  });

  it('reports the first offending key in sorted order', () => {
    expectValidation(
      () => validateServiceConfigs('spark', params, { zzz: '1', workers: 'x', aaa: '1' }),
      "'spark' service config param name 'aaa' is not supported",
    );
    expectValidation(
      () => validateServiceConfigs('spark', params, { workers: 'x', ratio: '15.3' }),
      "'spark' service config param 'ratio' value is not supported",
    );
  });

  it('applies the value rules per parameter', () => {
    expectValidation(
      () => validateServiceConfigs('spark', params, { workers: 'not INT' }),
      "'spark' service config param 'workers' has incorrect value type",
    );
    expectValidation(
      () => validateServiceConfigs('spark', params, { hosts: '"a"' }),
      "'spark' service config param 'hosts' has incorrect value type",
    );
  });
});
