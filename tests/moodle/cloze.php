<?php
// Moodle's own reading of an exported quiz, run in PHP (Debian's php-cli), for
// tests/test_moodle_grading.py. The regular expressions are Moodle's, as defined in
// question/type/multianswer/questiontype.php (Moodle 4.x), and the tolerance interval
// is qtype_numerical_answer::get_tolerance_interval() (tolerancetype 2, nominal) of
// question/type/numerical/question.php; both are copied verbatim below.
//
//   php cloze.php parse texts.json    -> JSON: for each cloze question text (the <questiontext> of the
//                                        XML, as Moodle's XML reader hands it on), its fields as Moodle extracts them
//   php cloze.php grade cases.json    -> JSON: for each [answer, tolerance, response], whether Moodle accepts it

define('ANSWER_ALTERNATIVE_FRACTION_REGEX', '=|%(-?[0-9]+(?:[.,][0-9]*)?)%');
define('ANSWER_ALTERNATIVE_ANSWER_REGEX', '.+?(?<!\\\\|&|&amp;)(?=[~#}]|$)');
define('ANSWER_ALTERNATIVE_FEEDBACK_REGEX', '.*?(?<!\\\\)(?=[~}]|$)');
define('ANSWER_ALTERNATIVE_REGEX',
       '(' . ANSWER_ALTERNATIVE_FRACTION_REGEX .')?' .
       '(' . ANSWER_ALTERNATIVE_ANSWER_REGEX . ')' .
       '(#(' . ANSWER_ALTERNATIVE_FEEDBACK_REGEX .'))?');
define('ANSWER_ALTERNATIVE_REGEX_PERCENTILE_FRACTION', 2);
define('ANSWER_ALTERNATIVE_REGEX_FRACTION', 1);
define('ANSWER_ALTERNATIVE_REGEX_ANSWER', 3);
define('NUMBER_REGEX', '-?(([0-9]+[.,]?[0-9]*|[.,][0-9]+)([eE][-+]?[0-9]+)?)');
define('NUMERICAL_ALTERNATIVE_REGEX', '^(' . NUMBER_REGEX . ')(:' . NUMBER_REGEX . ')?$');
define('NUMERICAL_CORRECT_ANSWER', 1);
define('NUMERICAL_ABS_ERROR_MARGIN', 6);
define('ANSWER_TYPE_DEF_REGEX',
        '(NUMERICAL|NM)|(MULTICHOICE|MC)|(MULTICHOICE_V|MCV)|(MULTICHOICE_H|MCH)|' .
        '(SHORTANSWER|SA|MW)|(SHORTANSWER_C|SAC|MWC)|' .
        '(MULTICHOICE_S|MCS)|(MULTICHOICE_VS|MCVS)|(MULTICHOICE_HS|MCHS)|'.
        '(MULTIRESPONSE|MR)|(MULTIRESPONSE_H|MRH)|(MULTIRESPONSE_S|MRS)|(MULTIRESPONSE_HS|MRHS)');
define('ANSWER_START_REGEX', '\{([0-9]*):(' . ANSWER_TYPE_DEF_REGEX . '):');
define('ANSWER_REGEX', ANSWER_START_REGEX . '(' . ANSWER_ALTERNATIVE_REGEX . '(~' . ANSWER_ALTERNATIVE_REGEX . ')*)\}');
define('ANSWER_REGEX_NORM', 1);
define('ANSWER_REGEX_ANSWER_TYPE_NUMERICAL', 3);
define('ANSWER_REGEX_ANSWER_TYPE_MULTICHOICE', 4);
define('ANSWER_REGEX_ALTERNATIVES', 16);

// The loop of qtype_multianswer_extract_question(), keeping what grading needs.
function extract_fields($text) {
    $fields = array();
    for ($positionkey = 1; preg_match('/'.ANSWER_REGEX.'/s', $text, $answerregs); ++$positionkey) {
        $field = array('weight' => ($answerregs[ANSWER_REGEX_NORM] !== '') ? (int)$answerregs[ANSWER_REGEX_NORM] : 1,
                       'type' => $answerregs[2], 'answers' => array());
        $remainingalts = $answerregs[ANSWER_REGEX_ALTERNATIVES];
        while (preg_match('/~?'.ANSWER_ALTERNATIVE_REGEX.'/s', $remainingalts, $altregs)) {
            $fraction = ('=' == $altregs[ANSWER_ALTERNATIVE_REGEX_FRACTION]) ? 1.0 :
                (!empty($altregs[ANSWER_ALTERNATIVE_REGEX_PERCENTILE_FRACTION]) ?
                 .01 * str_replace(',', '.', $altregs[ANSWER_ALTERNATIVE_REGEX_PERCENTILE_FRACTION]) : 0.0);
            $alt = array('fraction' => $fraction);
            if (!empty($answerregs[ANSWER_REGEX_ANSWER_TYPE_NUMERICAL])
                    && preg_match('~'.NUMERICAL_ALTERNATIVE_REGEX.'~s', $altregs[ANSWER_ALTERNATIVE_REGEX_ANSWER], $numregs)) {
                $alt['answer'] = $numregs[NUMERICAL_CORRECT_ANSWER];
                $alt['tolerance'] = array_key_exists(NUMERICAL_ABS_ERROR_MARGIN, $numregs) ? $numregs[NUMERICAL_ABS_ERROR_MARGIN] : 0;
            } else {
                $answer = html_entity_decode($altregs[ANSWER_ALTERNATIVE_REGEX_ANSWER], ENT_QUOTES, 'UTF-8');
                $alt['answer'] = str_replace('\#', '#', str_replace('\}', '}', $answer));
                $alt['numeric'] = false;
            }
            $field['answers'][] = $alt;
            $tmp = explode($altregs[0], $remainingalts, 2);
            $remainingalts = $tmp[1];
        }
        $fields[] = $field;
        $text = implode("{#$positionkey}", explode($answerregs[0], $text, 2));
    }
    return array($fields, $text);
}

// qtype_numerical_answer::get_tolerance_interval(), tolerancetype 2 (nominal), and within_tolerance().
function within_tolerance($answer, $tolerance, $value) {
    $epsilon = pow(10, -1 * ini_get('precision'));
    $tolerance = abs($tolerance);
    $t = $tolerance + $epsilon * max(abs($tolerance), abs($answer), $epsilon);
    $min = $answer - $t;
    $max = $answer + $t;
    return $min <= $value && $value <= $max;
}

if ($argv[1] === 'parse') {
    $texts = json_decode(file_get_contents($argv[2]), true);
    $out = array();
    foreach ($texts as $text) {
        list($fields, $rest) = extract_fields($text);
        $out[] = array('fields' => $fields, 'rest' => $rest);
    }
    echo json_encode($out);
} else {
    $cases = json_decode(file_get_contents($argv[2]), true);
    $out = array();
    foreach ($cases as $c) {
        $out[] = within_tolerance((float)$c[0], (float)$c[1], (float)$c[2]);
    }
    echo json_encode($out);
}
